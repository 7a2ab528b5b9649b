#!/bin/sh
# mkinitramfs.sh OUT KERNELDIR SOFTKEY INIT: write OUT, an initramfs for the
# VM test (a newc cpio archive, uncompressed: under TCG the kernel unpacks it
# faster than it would gunzip it), holding
#   /init                 INIT
#   /bin/busybox          busybox-static, with links for the applets init uses
#   /bin/softkey          SOFTKEY, a static build of ./cmd/softkey
#   /lib/modules/*.ko     hid, uhid and hid-generic from KERNELDIR
#   /usr/bin/fido2-*      libfido2's tools, with every shared library ldd names
#                         (the dynamic loader included) at its host path.
set -eu

out=${1:?usage: mkinitramfs.sh OUT KERNELDIR SOFTKEY INIT}
kernel=${2:?usage: mkinitramfs.sh OUT KERNELDIR SOFTKEY INIT}
softkey=${3:?usage: mkinitramfs.sh OUT KERNELDIR SOFTKEY INIT}
init=${4:?usage: mkinitramfs.sh OUT KERNELDIR SOFTKEY INIT}

# busybox-static installs /bin/busybox; the dynamic busybox package would too.
busybox=/bin/busybox
if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
	echo "mkinitramfs.sh: $busybox is missing or not statically linked (install busybox-static)" >&2
	exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/usr/bin" "$root/lib/modules" "$root/dev" "$root/proc" \
	"$root/sys" "$root/tmp"

cp "$busybox" "$root/bin/busybox"
for applet in sh mount insmod ls cat echo sleep head tail cut sed base64 dmesg poweroff; do
	ln -s busybox "$root/bin/$applet"
done

install -m 0755 "$init" "$root/init"
install -m 0755 "$softkey" "$root/bin/softkey"
for m in hid uhid hid-generic; do
	cp "$kernel/$m.ko" "$root/lib/modules/$m.ko"
done

for tool in fido2-token fido2-cred fido2-assert; do
	path=$(command -v "$tool") || {
		echo "mkinitramfs.sh: $tool not found (install fido2-tools)" >&2
		exit 1
	}
	cp "$path" "$root/usr/bin/$tool"
	# "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
	ldd "$path" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u | while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$out"
