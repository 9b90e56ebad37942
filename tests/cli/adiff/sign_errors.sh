# Signing keys: --genkey makes a private key (mode 0600) and never overwrites a file;
# --pubkey prints or writes its public key; --sign refuses, before any diffing, a key file
# that is missing, not a key, or a public key (exit 2), and a signed package is made.
. "$(dirname "$0")/mkimages.inc" >/dev/null
"$ADIFF" --genkey key.pem
stat -c '%a' key.pem
head -1 key.pem
"$ADIFF" --genkey key.pem || echo "exit $?"
"$ADIFF" --pubkey key.pem pub.pem
"$ADIFF" --pubkey key.pem | cmp - pub.pem && echo "same public key"
head -1 pub.pem
"$ADIFF" --pubkey missing.pem || echo "exit $?"
"$ADIFF" --genkey a.pem extra || echo "exit $?"
"$ADIFF" -l fs --sign missing.pem old.img new.img p.bin || echo "exit $?"
"$ADIFF" -l fs --sign pub.pem old.img new.img p.bin || echo "exit $?"
echo "not a key" > junk.pem
"$ADIFF" -l fs --sign junk.pem old.img new.img p.bin || echo "exit $?"
test -e p.bin || echo "no p.bin"
"$ADIFF" -l fs --sign key.pem old.img new.img p.bin | tail -1
# The same package and key always give the same bytes (RFC 6979).
"$ADIFF" -q -l fs --sign key.pem old.img new.img p2.bin
cmp p.bin p2.bin && echo "reproducible"
