"""``python -m calibkit``: the command line (what torchrun and accelerate launch call)."""
from calibkit.cli import main

main()
