from slabproof.cli import main

raise SystemExit(main())
