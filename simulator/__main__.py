"""`python -m simulator --scenario DIR`: run the simulator in the foreground (see `simulator.server`)."""

from simulator.server import main

raise SystemExit(main())
