from d3.cli import main

main()
