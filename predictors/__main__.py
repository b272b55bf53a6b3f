"""`python -m predictors VERB …`: the command line (`predictors.cli`)."""
import sys

from predictors.cli import main

if __name__ == '__main__':
    sys.exit(main())
