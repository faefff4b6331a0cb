"""Free answers read word by word: question sources and contexts shared by `run tokens` and `run nudging`."""
