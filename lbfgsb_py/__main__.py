"""``python -m lbfgsb_py``: the ``lbfgsb-py`` command line (see :mod:`lbfgsb_py.cli`)."""
from .cli import main

if __name__ == "__main__":
    main()
