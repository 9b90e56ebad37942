# The device fs_repl.txt was recorded on: /usr holds these files, made in this order
# (a littlefs v1 directory lists in creation order). Contents are stand-ins.
printf '{"apn": "cmnet", "username": "", "password": ""}\n' > apn_cfg.json
printf 'print("a")\n' > a.py
printf 'print("b")\n' > b.py
head -c 2048 /dev/zero > V05.bin
printf '{"replFlag": 0}' > system_config.json
printf '[]\n' > checksum.json
printf 'b\n' > b.txt
for f in apn_cfg.json a.py b.py V05.bin system_config.json checksum.json b.txt; do
    "$QPY" --device "$DEVICE" fs cp "$f" ":/usr/$f"
done
