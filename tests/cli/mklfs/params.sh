# Factory parameters (--param): JSON files go in as they are, key=value files become a
# JSON object (integers stay numbers), at the image root before the folder's files.
mkdir mount
printf 'print(1)\n' > mount/main.py
printf '{"apn": "cmnet", "username": "", "password": ""}\n' > apn_cfg.json
printf '# REPL on the USB port\nreplFlag = 0\nname=module 7\n' > system_config.txt
"$MKLFS" -c mount --param apn_cfg.json --param system_config.txt -i customer_fs.bin
"$MKLFS" -l customer_fs.bin
"$MKLFS" -u out -i customer_fs.bin
cat out/apn_cfg.json out/system_config.json; echo
