"""Running Quan safely over time: backups and restores, rotation of its keys."""
