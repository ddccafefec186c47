"""`python -m ganeval` (and `torchrun -m ganeval ...`) run the command line."""

from .cli import main

if __name__ == "__main__":
    main()
