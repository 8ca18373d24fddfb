"""Training: KD loss, the trainer with exact resume, torchrun DDP, train configs, safetensors checkpoints, evaluation and metrics."""
