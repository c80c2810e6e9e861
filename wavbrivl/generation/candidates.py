"""Each image's candidate starts: optimised side by side, each image with an Adam of its own, until the image keeps
its best candidate (at start_steps; later for an image still far from its targets, when the config asks)."""

from __future__ import annotations

import torch


class Candidates:
    """The latents of every image's candidates, laid out in rows candidate-major (every image's first candidate,
    then every second one still kept, ...), and one Adam per image so that one image keeping its best candidate
    leaves the others' optimisation as it was."""

    def __init__(self, z: torch.Tensor, starts: int, lr: float) -> None:
        batch = z.shape[0] // starts
        grouped = z.detach().view(starts, batch, *z.shape[1:])
        self.lr = lr
        self.groups = [grouped[:, i].clone().requires_grad_(True) for i in range(batch)]
        self.optimizers = [torch.optim.Adam([group], lr=lr) for group in self.groups]
        self._lay_out()

    def _lay_out(self) -> None:
        most = max(group.shape[0] for group in self.groups)
        self.rows = [(i, k) for k in range(most) for i, group in enumerate(self.groups) if group.shape[0] > k]
        self.owner = torch.tensor([i for i, _ in self.rows])

    @property
    def pending(self) -> list[int]:
        """The images that still have more than one candidate."""
        return [i for i, group in enumerate(self.groups) if group.shape[0] > 1]

    def latents(self) -> torch.Tensor:
        """Every kept candidate's latents (rows, C, h, w), differentiable to each image's own."""
        return torch.cat([self.groups[i][k : k + 1] for i, k in self.rows])

    def zero_grad(self) -> None:
        """Clear every image's gradients."""
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)

    def step(self, low: torch.Tensor, high: torch.Tensor) -> None:
        """One Adam step for every image, then each latent clamped into [low, high] (the codebook's range)."""
        for optimizer in self.optimizers:
            optimizer.step()
        with torch.no_grad():
            for group in self.groups:
                group.copy_(torch.maximum(torch.minimum(group, high), low))

    def best_rows(self, loss: torch.Tensor) -> torch.Tensor:
        """Each image's row with the lowest loss (B,), given every row's loss (rows,)."""
        values = loss.detach().cpu().tolist()  # one transfer, not one per row
        best = [0] * len(self.groups)
        lowest = [float("inf")] * len(self.groups)
        for row, (i, _) in enumerate(self.rows):
            if values[row] < lowest[i]:
                lowest[i], best[i] = values[row], row
        return torch.tensor(best)

    def keep_best(self, images: list[int], best: torch.Tensor) -> None:
        """These images keep their best candidate (best: each image's row, from best_rows), each with a fresh Adam."""
        for i in images:
            _, k = self.rows[int(best[i])]
            self.groups[i] = self.groups[i].detach()[k : k + 1].clone().requires_grad_(True)
            self.optimizers[i] = torch.optim.Adam([self.groups[i]], lr=self.lr)
        self._lay_out()
