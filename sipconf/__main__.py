from sipconf.cli import main

raise SystemExit(main())
