from featurelock.cli import main

raise SystemExit(main())
