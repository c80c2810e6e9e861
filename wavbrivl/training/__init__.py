"""Training the audio tower: data preparation, frame embedding, the contrastive trainer."""
