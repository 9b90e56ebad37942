# --help prints the usage on stdout and exits 0; --version names the program.
"$MKLFS" --help
"$MKLFS" --version | sed 's/[0-9][0-9.]*$/VERSION/'
