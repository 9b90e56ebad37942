# Unknown commands and options: a message, a pointer to --help, exit 2.
"$QPY" frobnicate || echo "exit $?"
"$QPY" --bogus || echo "exit $?"
"$QPY" run || echo "exit $?"
