from notion_leakguard.cli import console_main

console_main()
