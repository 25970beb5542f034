# The e2e guests' boot sector (e2e.sh's BOOT_SECTOR holds its bytes). Real mode, loaded by the
# BIOS at 0:0x7c00. To change it, assemble it and paste the bytes into BOOT_SECTOR (and their
# count into BOOT_SECTOR_BYTES):
#   as --32 -o boot.o boot.S && ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o boot.bin boot.o
#   xxd -p boot.bin | tr -d '\n' | sed 's/../\\x&/g'
#
# What the harness reads in the guest's memory (xp /5wx 0x7e00 in QEMU's monitor):
#   0x7e00  the BIOS timer's ticks (18.2 Hz) since boot: the guest's uptime, carried on by a live
#           migration and back to 0 after a restart
#   0x7e04  "HAVN": this boot sector runs
#   0x7e08  sectors read from the guest's disk and written back, one round trip every 8 ticks
#           (~0.44 s: once a tick made six guests emulated by TCG burn a core between them)
#   0x7e0c  int 13h calls that failed (carry set): errors the disk reported to the guest
#   0x7e10  the BIOS tick count (0x46c) last seen
# A guest whose disk does not answer stays inside int 13h (the BIOS polls its virtio queue) and
# counts on only once its request completes, the missed ticks all at once; a guest that QEMU
# paused on an I/O error counts nothing while paused (its virtual clock stands still).
.code16
.globl _start
_start:
  cli
  xor %ax,%ax
  mov %ax,%ds
  mov %ax,%es
  mov %ax,%ss
  mov $0x7c00,%sp
  xor %eax,%eax
  mov %eax,0x7e00
  movl $0x4e564148,0x7e04
  mov %eax,0x7e08
  mov %eax,0x7e0c
  mov 0x46c,%eax
  mov %eax,0x7e10
  sti
wait:
  hlt
  mov 0x46c,%eax
  mov %eax,%edx
  sub 0x7e10,%eax
  jae 1f
  add $0x1800b0,%eax        # midnight: the BIOS count went back to 0 after 0x1800b0 ticks
1:
  test %eax,%eax
  jz wait                   # woken by something else than the timer
  mov %edx,0x7e10
  mov 0x7e00,%ecx
  add %eax,0x7e00
  xor 0x7e00,%ecx           # the bits of the counter that changed:
  shr $3,%ecx               # disk I/O when it passed a multiple of 8
  jz wait
  mov $0x0201,%ax           # read 1 sector
  call io
  jc fail
  mov $0x0301,%ax           # write it back
  call io
  jc fail
  incl 0x7e08
  jmp wait
fail:
  incl 0x7e0c
  jmp wait
io:                         # cylinder 0, head 0, sector 2 of drive 0x80, to or from 0:0x8000
  mov $0x0002,%cx
  mov $0x0080,%dx
  mov $0x8000,%bx
  int $0x13
  ret
