# QPYcom's command line, unchanged: a tree with nested folders, empty and binary files
# and files of 1 B to 1 MB packs, lists, unpacks to the same bytes, and packing the same
# folder again gives the same image byte for byte.
mkdir -p mount/lib/sub/deeper mount/empty_dir
printf 'print("hello")\n' > mount/main.py
: > mount/empty.txt
printf 'x' > mount/one_byte
head -c 1048576 /dev/urandom > mount/lib/one_mb.bin
head -c 4096 /dev/urandom > mount/lib/sub/block.bin
head -c 4097 /dev/urandom > mount/lib/sub/deeper/block_plus_one.bin
printf '\000\001\002\377' > mount/lib/sub/binary.dat
"$MKLFS" -c mount -b 4096 -r 4096 -p 4096 -s 5242880 -i customer_fs.bin
ls -l customer_fs.bin | awk '{print $5}'
"$MKLFS" -l customer_fs.bin
"$MKLFS" -u unpacked -i customer_fs.bin
diff -r mount unpacked && echo "unpacked: same files"
# The same folder, made afresh elsewhere (other inode and readdir order): same image.
mkdir copy && cp -r mount/. copy/
"$MKLFS" -c copy -i again.bin
cmp customer_fs.bin again.bin && echo "reproducible"
# Defaults are the EC600S's customer_fs; --backup gives customer_backup_fs.
"$MKLFS" -c mount/lib/sub
ls -l customer_fs.bin | awk '{print $5}'
"$MKLFS" --backup -c mount/lib/sub
ls -l customer_backup_fs.bin | awk '{print $5}'
# Other geometries work too (mklittlefs-style small blocks).
"$MKLFS" -c mount -b 512 -r 64 -p 128 -s 2097152 -i small.bin
"$MKLFS" -l small.bin -b 512 | tail -1
