"""Connect jcecard's emulated OpenPGP card to vsmartcard's vpcd (pcscd driver).
vpcd protocol: 2-byte big-endian length + payload; a 1-byte payload is a
control code (0 power off, 1 power on, 2 reset, 4 get ATR -> reply with the ATR),
anything else is a C-APDU, answered with the R-APDU.
Usage: python vpcd-bridge.py HOST PORT STATE_DIR"""
import logging, os, socket, struct, sys, time
from pathlib import Path
from jcecard.main import OpenPGPCard
logging.getLogger().setLevel(os.environ.get("JCECARD_LOG", "ERROR"))

host, port, store = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
store.mkdir(parents=True, exist_ok=True)
card = OpenPGPCard(storage_path=store)

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b

def send(s, data):
    s.sendall(struct.pack("!H", len(data)) + data)

while True:
    try:
        s = socket.create_connection((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        time.sleep(0.1); continue
    try:
        while True:
            # quick ACKs: without them every APDU waits ~40 ms (delayed ACK)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            (n,) = struct.unpack("!H", recv_exact(s, 2))
            msg = recv_exact(s, n)
            if n == 1:
                # jcecard keeps verified PINs across power-on/reset on purpose;
                # a real card does not, so clear them here.
                if msg[0] == 0: card.power_off()
                elif msg[0] == 1: card.power_on(); card._security.reset()
                elif msg[0] == 2: card.reset(); card._security.reset()
                elif msg[0] == 4: send(s, card.get_atr())
            elif n >= 4 and msg[1] == 0x20 and msg[2] == 0xFF:
                # VERIFY P1=FF = reset the PIN's access status (OpenPGP 3.x;
                # OpenSC's C_Logout). jcecard ignores P1 (a status check).
                card._security.clear_verification(msg[3])
                send(s, b"\x90\x00")
            elif n >= 4 and msg[1] == 0xA5:
                # SELECT DATA (OpenPGP 3.x; OpenSC sends it before reading the
                # cardholder certificate 7F21 and gives up on 6D00). jcecard
                # 0.1.0 lacks it and has one certificate occurrence -> 9000.
                send(s, b"\x90\x00")
            else:
                send(s, card.process_apdu(msg))
    except (EOFError, OSError):
        s.close(); time.sleep(0.1)
