# Every command has --help on stdout, exit 0.
"$MKFW" --help
"$MKFW" create --help
"$MKFW" info --help
"$MKFW" extract -h
