from turnout.agent.verify.cli import main

main()
