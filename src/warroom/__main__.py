from warroom.cli.main import main

main()
