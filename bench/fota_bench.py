#!/usr/bin/env python3
"""FOTA figures for `make bench` (issue 6): on the default firmware -> a generated variant
(always) and on every pair in ../shared/data/firmware-pairs (each pair's binary as the `cp`
section), measured in the same run:

  1. package size, diff time and peak RSS, apply time and peak memory: adiff beside Debian's
     bsdiff/bspatch, xdelta3 and `zstd --patch-from` (those on the uncompressed sections);
     adiff's apply is the module's own code (fota_bench: qp_fota_prepare as fota.verify()
     runs it, then the boot-time qp_fota_apply on a RAM flash, RAM counted by its
     allocator), set against liblzma alone recompressing the new sections;
  2. image size: mkfw's LZMA image against `xz -9e` of the same sections, and LZOP;
  3. the seed's claim: diffing before compression (adiff) against diffing the compressed
     images directly (bsdiff on the .img files), for LZMA and for LZOP images.

Prints markdown tables. Usage: fota_bench.py --bin BINDIR [--pairs DIR] [--work DIR]
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys

LAYOUT = "firmware 16M\nfota_pkg 16M\nsector 4K\n"  # roomy: sizes, not the EC600S fit


def run(cmd, **kw):
    """Runs cmd under /usr/bin/time: (seconds, peak RSS in KiB)."""
    tf = os.path.join(WORK, "time.txt")
    subprocess.run(["/usr/bin/time", "-o", tf, "-f", "%e %M"] + cmd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    with open(tf) as f:
        e, m = f.read().split()[-2:]
    return float(e), int(m)


def size(p):
    return os.path.getsize(p)


def cat(paths, out):
    with open(out, "wb") as o:
        for p in paths:
            with open(p, "rb") as f:
                o.write(f.read())


def mkfw(bindir, out, version, sections, codec):
    cmd = [os.path.join(bindir, "mkfw"), "create", "-o", out, "--model", "EC600S",
           "--version", version, "--codec", codec]
    for name, path in sections:
        cmd += ["--section", f"{name}={path}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def pairs(bindir, pairs_dir):
    """(name, old sections, new sections): lists of (name, file)."""
    d = os.path.join(WORK, "generated")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    default = os.path.join(os.path.dirname(bindir), "firmware", "default.img")
    subprocess.run([os.path.join(bindir, "mkfw"), "extract", default, os.path.join(d, "x")],
                   check=True, stdout=subprocess.DEVNULL)
    cp2 = os.path.join(d, "cp2.bin")
    subprocess.run([os.path.join(bindir, "fwgen"), "--variant", "1",
                    str(size(os.path.join(d, "x", "cp.bin"))), cp2], check=True)
    old = [(n, os.path.join(d, "x", n + ".bin")) for n in ("cp", "dsp", "app")]
    new = [("cp", cp2)] + old[1:]
    yield "default firmware -> fwgen variant", old, new
    for p in sorted(glob.glob(os.path.join(pairs_dir, "*", ""))):
        files = {}
        for side in ("old", "new"):
            cands = [f for f in glob.glob(os.path.join(p, side, "**", "*"), recursive=True)
                     if os.path.isfile(f) and not f.endswith(".deb")]
            if len(cands) == 1:
                files[side] = cands[0]
        if len(files) == 2:
            yield (os.path.basename(os.path.dirname(p)), [("cp", files["old"])],
                   [("cp", files["new"])])


def measure(bindir, name, old_secs, new_secs):
    d = os.path.join(WORK, "m")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    j = lambda f: os.path.join(d, f)
    with open(j("layout.txt"), "w") as f:
        f.write(LAYOUT)
    r = {"name": name}
    # Images, both codecs.
    for codec in ("lzma", "lzop"):
        mkfw(bindir, j(f"old.{codec}.img"), "V1", old_secs, codec)
        mkfw(bindir, j(f"new.{codec}.img"), "V2", new_secs, codec)
        r[f"img_{codec}"] = size(j(f"new.{codec}.img"))
    xz = 0
    for _, p in new_secs:
        xz += len(subprocess.run(["xz", "-9e", "-c", p], check=True,
                                 stdout=subprocess.PIPE).stdout)
    r["xz"] = xz
    cat([p for _, p in old_secs], j("old.raw"))
    cat([p for _, p in new_secs], j("new.raw"))
    r["raw"] = size(j("new.raw"))
    # adiff (LZMA images: the scheme; LZOP images: for the seed's table).
    adiff = os.path.join(bindir, "adiff")
    for codec in ("lzma", "lzop"):
        t, m = run([adiff, "-q", "-l", "fp", "--layout", j("layout.txt"),
                    j(f"old.{codec}.img"), j(f"new.{codec}.img"), j(f"a.{codec}.bin")])
        r[f"adiff_{codec}"] = size(j(f"a.{codec}.bin"))
        if codec == "lzma":
            r["adiff_t"], r["adiff_m"] = t, m
    out = subprocess.run([os.path.join(bindir, "fota_bench"), j("old.lzma.img"),
                          j("new.lzma.img"), j("a.lzma.bin")], check=True,
                         stdout=subprocess.PIPE, text=True).stdout.split()
    (r["apply_t"], r["apply_ram"], r["recompress_t"], r["backup"], r["restarts"],
     r["verify_t"]) = (float(out[0]), int(out[1]), float(out[2]), int(out[3]), int(out[4]),
                       float(out[5]))
    _, r["apply_rss"] = run([os.path.join(bindir, "fota_bench"), j("old.lzma.img"),
                             j("new.lzma.img"), j("a.lzma.bin")])
    # Peers on the uncompressed sections.
    peers = [
        ("bsdiff", ["bsdiff", j("old.raw"), j("new.raw"), j("p.bsdiff")],
         ["bspatch", j("old.raw"), j("o.bsdiff"), j("p.bsdiff")], "p.bsdiff", "o.bsdiff"),
        ("xdelta3 -9 -S djw",
         ["xdelta3", "-f", "-9", "-S", "djw", "-e", "-s", j("old.raw"), j("new.raw"),
          j("p.xd3")],
         ["xdelta3", "-f", "-d", "-s", j("old.raw"), j("p.xd3"), j("o.xd3")], "p.xd3",
         "o.xd3"),
        ("zstd -19 --patch-from",
         ["zstd", "-q", "-f", "-19", "--patch-from=" + j("old.raw"), j("new.raw"), "-o",
          j("p.zst")],
         ["zstd", "-q", "-f", "-d", "--patch-from=" + j("old.raw"), j("p.zst"), "-o",
          j("o.zst")], "p.zst", "o.zst"),
    ]
    r["peers"] = []
    for pname, dcmd, acmd, pf, of in peers:
        dt, dm = run(dcmd)
        at, am = run(acmd)
        with open(j(of), "rb") as a, open(j("new.raw"), "rb") as b:
            ok = a.read() == b.read()
        r["peers"].append((pname, size(j(pf)), dt, dm, at, am, ok))
    # The seed's claim: bsdiff on the compressed images themselves.
    for codec in ("lzma", "lzop"):
        run(["bsdiff", j(f"old.{codec}.img"), j(f"new.{codec}.img"), j(f"i.{codec}.bsdiff")])
        r[f"imgdiff_{codec}"] = size(j(f"i.{codec}.bsdiff"))
    return r


def tables(rs):
    print("### FOTA packages (diff before compression) beside the peers, same run\n")
    print("Peers diff the uncompressed sections; adiff diffs them too (and applies on the "
          "compressed image, recompressing). Times in s, memory peak RSS in MB; adiff apply "
          "RAM is the module's counted allocator.\n")
    print("| pair | tool | package bytes | x bsdiff | diff s | diff MB | apply s | apply MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rs:
        bs = r["peers"][0][1]
        print(f"| {r['name']} | adiff (LZMA image) | {r['adiff_lzma']:,} | "
              f"{r['adiff_lzma'] / bs:.2f} | {r['adiff_t']:.2f} | {r['adiff_m'] / 1024:.1f} | "
              f"{r['apply_t']:.2f} | {r['apply_ram'] / 2**20:.2f} (RSS "
              f"{r['apply_rss'] / 1024:.1f}) |")
        for pname, ps, dt, dm, at, am, ok in r["peers"]:
            print(f"| | {pname} | {ps:,} | {ps / bs:.2f} | {dt:.2f} | {dm / 1024:.1f} | "
                  f"{at:.2f} | {am / 1024:.1f}{'' if ok else ' (WRONG OUTPUT)'} |")
    print("\n### Targets (issue 6)\n")
    print("| pair | package / bsdiff (<= 0.70) | diff time / bsdiff (<= 1) | diff memory / "
          "bsdiff (<= 1) | apply / liblzma recompress (<= 1.3) | image / xz -9e (<= 1.05) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rs:
        _, bs, bt, bm, _, _, _ = r["peers"][0]
        ok = lambda v, lim: f"{v:.2f} {'met' if v <= lim else '**not met**'}"
        print(f"| {r['name']} | {ok(r['adiff_lzma'] / bs, 0.70)} | "
              f"{ok(r['adiff_t'] / max(bt, 0.01), 1.0)} | {ok(r['adiff_m'] / bm, 1.0)} | "
              f"{ok(r['apply_t'] / max(r['recompress_t'], 0.001), 1.3)} "
              f"({r['apply_t']:.2f} / {r['recompress_t']:.2f} s) | "
              f"{ok(r['img_lzma'] / r['xz'], 1.05)} |")
    print("\n### The seed's claim: LZMA vs LZOP images, and diffing before vs after "
          "compression\n")
    print("| pair | sections | LZMA image | LZOP image | xz -9e of the sections | adiff, LZMA "
          "images | bsdiff of the LZMA .img | adiff, LZOP images | bsdiff of the LZOP .img |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rs:
        print(f"| {r['name']} | {r['raw']:,} | {r['img_lzma']:,} | {r['img_lzop']:,} | "
              f"{r['xz']:,} | {r['adiff_lzma']:,} | {r['imgdiff_lzma']:,} "
              f"({r['imgdiff_lzma'] / r['adiff_lzma']:.1f}x) | {r['adiff_lzop']:,} | "
              f"{r['imgdiff_lzop']:,} ({r['imgdiff_lzop'] / r['adiff_lzop']:.1f}x) |")
    print("\nadiff apply: `fota.verify()` (checks and dry run, before the restart), backup "
          "need (4 KiB sectors) and old-section decoder (re)starts in the boot-time apply "
          "(a read further back than the 32 KiB window restarts at the nearest 256 KiB "
          "restart point): " +
          "; ".join(f"{r['name']} verify {r['verify_t']:.2f} s, {r['backup']:,} B, "
                    f"{r['restarts']:,} decoder starts" for r in rs))


def main():
    global WORK
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--pairs", default=os.path.join(here, "..", "..", "shared", "data",
                                                    "firmware-pairs"))
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    bindir = os.path.abspath(a.bin)
    WORK = os.path.abspath(a.work or os.path.join(os.path.dirname(bindir), "bench", "fota"))
    os.makedirs(WORK, exist_ok=True)
    for tool in ("bsdiff", "bspatch", "xdelta3", "zstd", "xz"):
        if not shutil.which(tool):
            print(f"fota_bench: {tool} missing (scripts/setup.sh --bench installs it)",
                  file=sys.stderr)
            return 1
    rs = []
    for name, old, new in pairs(bindir, a.pairs):
        print(f"fota_bench: {name}", file=sys.stderr)
        rs.append(measure(bindir, name, old, new))
    tables(rs)
    return 0


WORK = None
if __name__ == "__main__":
    sys.exit(main())
