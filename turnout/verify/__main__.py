from turnout.verify.cli import main

main()
