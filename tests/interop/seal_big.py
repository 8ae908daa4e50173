#!/usr/bin/env python3
"""Seals and opens a file over 1 GiB with the real `aunsorm` binary, checking the
round trip, the peak resident memory of each process (streaming must keep it bounded),
and that a truncated copy is refused without leaving an output file.

Usage: seal_big.py PATH_TO_AUNSORM [SIZE_MIB]. Prints 'N passed, M failed'."""
import hashlib, os, subprocess, sys, tempfile, time

AUNSORM = os.path.abspath(sys.argv[1])
SIZE = int(sys.argv[2]) * 2**20 if len(sys.argv) > 2 else 1100 * 2**20
RSS_LIMIT_KIB = 64 * 1024
work = tempfile.mkdtemp(prefix="aunsorm-big-", dir=os.environ.get("AUNSORM_BIG_DIR"))
passed = failed = 0


def run(*args):
    t = time.monotonic()
    proc = subprocess.Popen([AUNSORM, *args], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return os.waitstatus_to_exitcode(status), ru.ru_maxrss, time.monotonic() - t, err


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name} {detail}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(1 << 20):
            h.update(b)
    return h.hexdigest()


plain = os.path.join(work, "plain")
block = os.urandom(1 << 20)
with open(plain, "wb") as f:
    for i in range(SIZE >> 20):
        # Vary each MiB so no two chunks are equal.
        f.write(i.to_bytes(8, "big") + block[8:])
want = digest(plain)
for alg in ["x-wing"]:
    code, _, _, err = run("pkey", "gen", "--alg", alg, "--out", "k.pem")
    run("pkey", "pub", "--in", "k.pem", "--out", "p.pem")
    code, rss, secs, err = run("seal", "--to", "p.pem", "--in", "plain", "--out", "sealed.aun")
    mb = SIZE / 1e6
    check(f"seal {SIZE >> 20} MiB with {alg}", code == 0, f"{secs:.2f} s, {mb / secs:.0f} MB/s, peak RSS {rss} KiB {err}")
    check("seal peak RSS bounded", rss < RSS_LIMIT_KIB, f"{rss} KiB < {RSS_LIMIT_KIB} KiB")
    code, rss, secs, err = run("open", "--key", "k.pem", "--in", "sealed.aun", "--out", "opened")
    check(f"open {SIZE >> 20} MiB", code == 0, f"{secs:.2f} s, {mb / secs:.0f} MB/s, peak RSS {rss} KiB {err}")
    check("open peak RSS bounded", rss < RSS_LIMIT_KIB, f"{rss} KiB")
    check("round trip identical", os.path.exists(os.path.join(work, "opened")) and digest(os.path.join(work, "opened")) == want)
    os.remove(os.path.join(work, "opened"))
    sealed = os.path.join(work, "sealed.aun")
    os.truncate(sealed, os.path.getsize(sealed) - 1000)
    code, _, _, err = run("open", "--key", "k.pem", "--in", "sealed.aun", "--out", "opened")
    check("truncated file refused", code == 2 and "decryption_failed" in err, err.strip())
    check("no output left behind", not os.path.exists(os.path.join(work, "opened")) and
          not any(n.startswith(".aunsorm-tmp") for n in os.listdir(work)))

for n in os.listdir(work):
    os.remove(os.path.join(work, n))
os.rmdir(work)
print(f"seal_big: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
