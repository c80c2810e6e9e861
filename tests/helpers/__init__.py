"""What tests share: sounds, media files, dataset layouts, sound formats."""
