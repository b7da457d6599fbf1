from perparb.cli import main

main()
