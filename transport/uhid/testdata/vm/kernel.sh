#!/bin/sh
# kernel.sh CACHE: make sure CACHE holds Debian's current amd64 kernel and the
# three HID modules the VM test loads, without installing the kernel package.
# Prints the directory holding vmlinuz, hid.ko, uhid.ko and hid-generic.ko,
# and vmlinux, the same kernel uncompressed, when it could be unpacked.
#
# The package is the one linux-image-amd64 depends on (linux-image-6.1.0-N-amd64
# on bookworm), at apt's candidate version. It is fetched with apt-get download
# and unpacked with dpkg-deb; a stamp file makes the next run instant. When apt
# cannot name the package (no package lists), the newest cached kernel is used.
set -eu
export LC_ALL=C # apt's output is parsed below

cache=${1:?usage: kernel.sh CACHE}
mkdir -p "$cache"

pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1) || pkg=
ver=
if [ -n "$pkg" ]; then
	ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p' | head -n 1)
	[ "$ver" = "(none)" ] && ver=
fi

if [ -z "$pkg" ] || [ -z "$ver" ]; then
	# Offline or without package lists: fall back to what is cached.
	stamp=$(printf '%s\n' "$cache"/linux-image-*/stamp | sort -V | tail -n 1)
	if [ -f "$stamp" ]; then
		echo "kernel.sh: apt names no linux-image-amd64 dependency; using cached ${stamp%/stamp}" >&2
		echo "${stamp%/stamp}"
		exit 0
	fi
	echo "kernel.sh: apt names no linux-image-amd64 dependency (run apt-get update) and nothing is cached in $cache" >&2
	exit 1
fi

dir="$cache/${pkg}_$ver"
if [ -f "$dir/stamp" ]; then
	echo "$dir"
	exit 0
fi

work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt's sandbox user must be able to write the .deb.
chmod 0777 "$work"
(cd "$work" && apt-get download -q "$pkg=$ver" >&2)
deb=$(ls "$work"/*.deb)

mkdir "$work/root"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/root" --wildcards \
	'./boot/vmlinuz-*' './boot/config-*' \
	'./lib/modules/*/kernel/drivers/hid/hid.ko*' \
	'./lib/modules/*/kernel/drivers/hid/uhid.ko*' \
	'./lib/modules/*/kernel/drivers/hid/hid-generic.ko*'

mkdir "$work/out"
cp "$work"/root/boot/vmlinuz-* "$work/out/vmlinuz"
for m in hid uhid hid-generic; do
	src=$(ls "$work"/root/lib/modules/*/kernel/drivers/hid/"$m".ko*)
	case "$src" in
	*.ko) cp "$src" "$work/out/$m.ko" ;;
	*.ko.xz) xz -dc "$src" >"$work/out/$m.ko" ;;
	*.ko.zst) zstd -qdc "$src" >"$work/out/$m.ko" ;;
	*.ko.gz) gzip -dc "$src" >"$work/out/$m.ko" ;;
	*) echo "kernel.sh: unexpected module file $src" >&2; exit 1 ;;
	esac
done
# Under TCG the kernel's own XZ decompressor takes seconds of every boot.
# A kernel built with CONFIG_PVH also boots from its uncompressed ELF image,
# which qemu loads directly: unpack it once here when the payload is XZ.
if grep -q '^CONFIG_PVH=y' "$work"/root/boot/config-*; then
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$work/out/vmlinuz" | head -n 1 | cut -d : -f 1)
	if [ -n "$off" ] &&
		tail -c +"$((off + 1))" "$work/out/vmlinuz" | xz -dc --single-stream >"$work/out/vmlinux" 2>/dev/null &&
		[ "$(head -c 4 "$work/out/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
		echo "kernel.sh: unpacked vmlinux for a PVH boot" >&2
	else
		rm -f "$work/out/vmlinux"
	fi
fi

echo "$pkg $ver" >"$work/out/stamp"

# Publish atomically; a concurrent run may have won the race.
if ! mv -T "$work/out" "$dir" 2>/dev/null && [ ! -f "$dir/stamp" ]; then
	echo "kernel.sh: cannot create $dir" >&2
	exit 1
fi
# Kernels apt no longer offers are of no further use.
for old in "$cache"/linux-image-*/; do
	[ "${old%/}" = "$dir" ] || rm -rf "${old%/}"
done
echo "$dir"
