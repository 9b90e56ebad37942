# --help prints the usage on stdout and exits 0; --version too.
"$ADIFF" --help
"$ADIFF" --version | sed 's/[0-9.]*$/X/'
