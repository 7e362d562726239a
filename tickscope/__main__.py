import sys

from tickscope.cli import main

sys.exit(main())
