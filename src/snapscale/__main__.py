from snapscale.cli import main

main()
