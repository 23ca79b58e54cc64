import sys

from medlearn.cli import main

sys.exit(main())
