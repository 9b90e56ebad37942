# qpy fs on a device that is not running: copy both ways (files and trees), list, cat,
# remove, make directories, and see the space.
"$QPY" device new dev >/dev/null
printf 'print("hello from main")\n' > main.py
mkdir -p lib/sub
printf 'x = 1\n' > lib/one.py
printf 'y = 2\n' > lib/sub/two.py
"$QPY" --device dev fs cp main.py :/usr/main.py
"$QPY" --device dev fs cp -r lib :/usr/
"$QPY" --device dev fs ls
"$QPY" --device dev fs ls :/usr/lib/sub
"$QPY" --device dev fs cat /usr/lib/one.py
"$QPY" --device dev fs mkdir /usr/data /bak/usr
"$QPY" --device dev fs cp main.py :/bak/usr/
"$QPY" --device dev fs cp :/usr/main.py copy.py
cmp main.py copy.py && echo "same bytes"
"$QPY" --device dev fs cp -r :/usr/lib back
find back | sort
"$QPY" --device dev fs rm -r /usr/lib
"$QPY" --device dev fs rm /usr/data
"$QPY" --device dev fs ls /usr
"$QPY" --device dev fs ls /bak/usr
"$QPY" --device dev fs df
