from goodword.cli import main

main()
