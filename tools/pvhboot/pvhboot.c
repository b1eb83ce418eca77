// SPDX-License-Identifier: GPL-2.0
/*
 * pvhboot: a Multiboot (v1) kernel that starts an uncompressed Linux
 * vmlinux (ELF64) through its PVH entry point.
 *
 * Why: under Bochs the kernel's own xz decompression of a bzImage takes
 * ~40 s.  With pvhboot the host decompresses once, and a Multiboot loader
 * (isolinux's mboot.c32, or QEMU's -kernel) loads
 *
 *	pvhboot (this, the Multiboot kernel)	command line: the kernel's
 *	module: vmlinux (ELF64, CONFIG_PVH=y)
 *	module: initramfs (optional)
 *
 * pvhboot copies the vmlinux PT_LOAD segments to their physical addresses
 * (p_paddr), builds a struct hvm_start_info (version 1: command line,
 * the initramfs as the first module, the memory map from the Multiboot
 * one, the ACPI RSDP) and jumps to the address in the vmlinux ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY, as arch/x86/platform/pvh/head.S expects:
 * 32-bit protected mode, paging off, %ebx = &start_info.
 *
 * The first word of the Multiboot command line is the loader's name for
 * this file (QEMU, mboot.c32 and GRUB all put it there): it is dropped.
 * Progress and errors go to COM1 as lines starting with "pvhboot: "; on
 * an error pvhboot triple-faults, which ends Bochs and QEMU -no-reboot.
 *
 * scripts/lane.sh uses it for the Bochs lanes.  To try it under QEMU:
 *
 *	qemu-system-x86_64 -m 1024 -nographic -no-reboot \
 *	  -kernel build/pvhboot/pvhboot.elf \
 *	  -initrd build/pvh/vmlinuz-$KVER.vmlinux,build/lanes/vmx/initramfs.cpio.gz \
 *	  -append console=ttyS0
 */

#include "pvhboot.h"

/* ---- Multiboot v1 ---------------------------------------------------- */

#define MB_LOADER_MAGIC		0x2badb002
#define MB_INFO_MEMORY		BIT(0)
#define MB_INFO_CMDLINE		BIT(2)
#define MB_INFO_MODS		BIT(3)
#define MB_INFO_MMAP		BIT(6)

struct mb_info {
	u32 flags;
	u32 mem_lower;		/* KiB below 1 MiB */
	u32 mem_upper;		/* KiB above 1 MiB */
	u32 boot_device;
	u32 cmdline;
	u32 mods_count;
	u32 mods_addr;
	u32 syms[4];
	u32 mmap_length;
	u32 mmap_addr;
} __packed;

struct mb_module {
	u32 mod_start;
	u32 mod_end;
	u32 cmdline;
	u32 pad;
} __packed;

/* "size" does not count itself: the next entry is at +size+4. */
struct mb_mmap {
	u32 size;
	u64 addr;
	u64 len;
	u32 type;
} __packed;

/* ---- PVH: include/xen/interface/hvm/start_info.h --------------------- */

#define XEN_HVM_START_MAGIC_VALUE	0x336ec578
#define XEN_HVM_MEMMAP_TYPE_RAM		1
#define XEN_HVM_MEMMAP_TYPE_RESERVED	2
#define XEN_HVM_MEMMAP_TYPE_PMEM	7
#define XEN_ELFNOTE_PHYS32_ENTRY	18

struct hvm_start_info {
	u32 magic;
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr;
	u32 memmap_entries;
	u32 reserved;
};

struct hvm_modlist_entry {
	u64 paddr;
	u64 size;
	u64 cmdline_paddr;
	u64 reserved;
};

struct hvm_memmap_table_entry {
	u64 addr;
	u64 size;
	u32 type;
	u32 reserved;
};

/* ---- ELF64 ------------------------------------------------------------ */

#define PT_LOAD		1
#define PT_NOTE		4
#define EM_X86_64	62

struct elf64_ehdr {
	u8 e_ident[16];
	u16 e_type;
	u16 e_machine;
	u32 e_version;
	u64 e_entry;
	u64 e_phoff;
	u64 e_shoff;
	u32 e_flags;
	u16 e_ehsize;
	u16 e_phentsize;
	u16 e_phnum;
	u16 e_shentsize;
	u16 e_shnum;
	u16 e_shstrndx;
};

struct elf64_phdr {
	u32 p_type;
	u32 p_flags;
	u64 p_offset;
	u64 p_vaddr;
	u64 p_paddr;
	u64 p_filesz;
	u64 p_memsz;
	u64 p_align;
};

struct elf_note {
	u32 n_namesz;
	u32 n_descsz;
	u32 n_type;
};

/* ---- state ------------------------------------------------------------ */

/*
 * Everything the kernel reads through start_info lives in pvhboot's own
 * image.  The kernel reads it before it allocates any memory, through its
 * early 1:1 map of the first GiB: pvhboot must be linked below 1 GiB.
 */
#define MAX_MEMMAP	128
#define CMDLINE_SIZE	4096

static struct hvm_start_info start_info __aligned(16);
static struct hvm_modlist_entry modlist[1] __aligned(16);
static struct hvm_memmap_table_entry memmap[MAX_MEMMAP] __aligned(16);
static char cmdline[CMDLINE_SIZE];
static u32 nr_memmap;

/* ---- libc bits (gcc may emit calls to these) ---------------------------- */

void *memmove(void *dst, const void *src, size_t n)
{
	if (dst == src || !n)
		return dst;
	if ((u32)dst < (u32)src || (u32)dst >= (u32)src + n) {
		/* Forward: rep movs, dwords first. */
		u32 d = (u32)dst, s = (u32)src, c = n >> 2;

		asm volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
		c = n & 3;
		asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
	} else {
		/* Backward, for an overlapping move up. */
		u32 d = (u32)dst + n - 1, s = (u32)src + n - 1, c = n;

		asm volatile("std; rep movsb; cld"
			     : "+D"(d), "+S"(s), "+c"(c) : : "memory");
	}
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	return memmove(dst, src, n);
}

void *memset(void *dst, int c, size_t n)
{
	u32 d = (u32)dst, v = (u8)c * 0x01010101U, k = n >> 2;

	asm volatile("rep stosl" : "+D"(d), "+c"(k) : "a"(v) : "memory");
	k = n & 3;
	asm volatile("rep stosb" : "+D"(d), "+c"(k) : "a"(v) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

/* ---- COM1 ------------------------------------------------------------ */

#define COM1	0x3f8

static inline void port_write8(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 port_read8(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc(char c)
{
	int i;

	/* The loader (isolinux SERIAL, or QEMU) has set the UART up. */
	for (i = 0; i < 100000 && !(port_read8(COM1 + 5) & 0x20); i++)
		;
	port_write8(COM1, c);
}

static void puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc('\r');
		putc(*s);
	}
}

static void puthex(u64 v)
{
	char buf[19];
	int i = 18, n = 0;

	buf[i] = 0;
	do {
		buf[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
		n++;
	} while (v || n < 8);
	buf[--i] = 'x';
	buf[--i] = '0';
	puts(buf + i);
}

static void putdec(u32 v)
{
	char buf[11];
	int i = 10;

	buf[i] = 0;
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	puts(buf + i);
}

/*
 * Stop the machine: with an empty IDT the int3 becomes a triple fault,
 * which ends Bochs (reset_on_triple_fault=0) and QEMU (-no-reboot)
 * instead of leaving them to their timeout.
 */
static void __noreturn fail(const char *why)
{
	static const struct {
		u16 limit;
		u32 base;
	} __packed no_idt;
	int i;

	puts("pvhboot: error: ");
	puts(why);
	puts("\npvhboot: stopping the machine (triple fault)\n");
	for (i = 0; i < 100000 && !(port_read8(COM1 + 5) & 0x40); i++)
		;
	asm volatile("lidt %0; int3" : : "m"(no_idt));
	for (;;)
		asm volatile("cli; hlt");
}

/* ---- helpers ------------------------------------------------------------ */

static int overlaps(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

static u64 align_up(u64 v, u64 a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Is [addr, addr+len) inside one RAM entry of the memory map? */
static int is_ram(u64 addr, u64 len)
{
	u32 i;

	for (i = 0; i < nr_memmap; i++)
		if (memmap[i].type == XEN_HVM_MEMMAP_TYPE_RAM &&
		    addr >= memmap[i].addr &&
		    addr + len <= memmap[i].addr + memmap[i].size)
			return 1;
	return 0;
}

static void add_memmap(u64 addr, u64 len, u32 type)
{
	if (!len)
		return;
	if (nr_memmap == MAX_MEMMAP)
		fail("memory map too long");
	memmap[nr_memmap].addr = addr;
	memmap[nr_memmap].size = len;
	/* start_info uses the e820 type numbers; anything else: reserved. */
	if (type < XEN_HVM_MEMMAP_TYPE_RAM || type > XEN_HVM_MEMMAP_TYPE_PMEM)
		type = XEN_HVM_MEMMAP_TYPE_RESERVED;
	memmap[nr_memmap].type = type;
	memmap[nr_memmap].reserved = 0;
	nr_memmap++;
}

static void read_memmap(struct mb_info *mbi)
{
	u32 p, end;

	if (mbi->flags & MB_INFO_MMAP) {
		p = mbi->mmap_addr;
		end = p + mbi->mmap_length;
		while (p + sizeof(struct mb_mmap) <= end) {
			struct mb_mmap *e = (struct mb_mmap *)p;

			add_memmap(e->addr, e->len, e->type);
			p += e->size + 4;
		}
	}
	if (!nr_memmap && (mbi->flags & MB_INFO_MEMORY)) {
		add_memmap(0, (u64)mbi->mem_lower << 10, XEN_HVM_MEMMAP_TYPE_RAM);
		add_memmap(0x100000, (u64)mbi->mem_upper << 10,
			   XEN_HVM_MEMMAP_TYPE_RAM);
	}
	if (!nr_memmap)
		fail("the loader passed no memory map");
}

static void read_cmdline(struct mb_info *mbi)
{
	const char *s = "";
	u32 n = 0;

	if (mbi->flags & MB_INFO_CMDLINE)
		s = (const char *)mbi->cmdline;
	/* Drop the first word: the loader's name for this file. */
	while (*s == ' ')
		s++;
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	while (*s && n < CMDLINE_SIZE - 1)
		cmdline[n++] = *s++;
	cmdline[n] = 0;
}

static u8 checksum(const u8 *p, u32 n)
{
	u8 sum = 0;

	while (n--)
		sum += *p++;
	return sum;
}

static u32 scan_rsdp(u32 start, u32 len)
{
	u32 p;

	for (p = start; p + 20 <= start + len; p += 16)
		if (!memcmp((void *)p, "RSD PTR ", 8) && !checksum((u8 *)p, 20))
			return p;
	return 0;
}

/* The ACPI RSDP: in the first KiB of the EBDA or in 0xe0000-0xfffff. */
static u32 find_rsdp(void)
{
	u32 ebda, p = 0x40e;

	/* Hide the constant address from gcc's -Warray-bounds. */
	asm("" : "+r"(p));
	ebda = (u32)*(u16 *)p << 4;
	p = 0;

	if (ebda >= 0x80000 && ebda < 0xa0000)
		p = scan_rsdp(ebda, 1024);
	if (!p)
		p = scan_rsdp(0xe0000, 0x20000);
	return p;
}

/* The PVH entry point from the vmlinux notes, 0 if there is none. */
static u32 find_pvh_entry(const u8 *elf, u32 size, const struct elf64_phdr *ph,
			  u32 phnum)
{
	u32 i;

	for (i = 0; i < phnum; i++) {
		u32 off, end;

		if (ph[i].p_type != PT_NOTE)
			continue;
		off = (u32)ph[i].p_offset;
		end = off + (u32)ph[i].p_filesz;
		if (ph[i].p_offset + ph[i].p_filesz > size)
			fail("vmlinux: PT_NOTE beyond the end of the file");
		while (off + sizeof(struct elf_note) <= end) {
			const struct elf_note *n = (const void *)(elf + off);
			u32 name = off + sizeof(*n);
			u32 desc = name + align_up(n->n_namesz, 4);

			off = desc + align_up(n->n_descsz, 4);
			if (off > end)
				break;
			if (n->n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
			    n->n_namesz == 4 && !memcmp(elf + name, "Xen", 4) &&
			    (n->n_descsz == 4 || n->n_descsz == 8)) {
				if (n->n_descsz == 8 && *(u32 *)(elf + desc + 4))
					fail("vmlinux: PVH entry above 4 GiB");
				return *(u32 *)(elf + desc);
			}
		}
	}
	return 0;
}

/*
 * A place for LEN bytes in RAM, above everything in BUSY[] (page
 * aligned), below the 1 GiB the kernel maps early.
 */
static u32 find_room(u64 len, u64 (*busy)[2], int nbusy)
{
	u64 top = 0x100000;
	int i;

	for (i = 0; i < nbusy; i++)
		if (busy[i][0] + busy[i][1] > top)
			top = busy[i][0] + busy[i][1];
	top = align_up(top, 0x1000);
	if (top + len > 0x40000000ULL || !is_ram(top, len))
		fail("no free RAM to move a module out of the kernel's way");
	return (u32)top;
}

/* ---- main ---------------------------------------------------------------- */

void pvhboot_main(u32 magic, struct mb_info *mbi)
{
	const struct mb_module *mods;
	const struct elf64_ehdr *eh;
	const struct elf64_phdr *ph;
	u32 vml = 0, vml_size = 0, rd = 0, rd_size = 0;
	u64 klo = ~0ULL, khi = 0;
	u64 busy[4][2];
	u32 i, entry, rsdp;

	puts("\npvhboot: starting\n");
	if (magic != MB_LOADER_MAGIC)
		fail("not started by a Multiboot loader");

	read_memmap(mbi);
	read_cmdline(mbi);

	/* The vmlinux is the module that is an ELF file; the initramfs,
	 * the first other one.
	 */
	if (!(mbi->flags & MB_INFO_MODS) || !mbi->mods_count)
		fail("no modules: pass the vmlinux (and the initramfs) as modules");
	mods = (const struct mb_module *)mbi->mods_addr;
	for (i = 0; i < mbi->mods_count; i++) {
		u32 start = mods[i].mod_start, size = mods[i].mod_end - start;

		if (!vml && size >= 4 && !memcmp((void *)start, "\177ELF", 4)) {
			vml = start;
			vml_size = size;
		} else if (!rd) {
			rd = start;
			rd_size = size;
		}
	}
	if (!vml)
		fail("no module is an ELF file (the vmlinux)");

	eh = (const struct elf64_ehdr *)vml;
	if (vml_size < sizeof(*eh) || eh->e_ident[4] != 2 ||
	    eh->e_machine != EM_X86_64)
		fail("vmlinux is not an x86-64 ELF64 file");
	if (eh->e_phentsize != sizeof(*ph) || !eh->e_phnum ||
	    eh->e_phoff + (u64)eh->e_phnum * sizeof(*ph) > vml_size)
		fail("vmlinux: bad program headers");
	ph = (const struct elf64_phdr *)(vml + (u32)eh->e_phoff);

	entry = find_pvh_entry((const u8 *)vml, vml_size, ph, eh->e_phnum);
	if (!entry)
		fail("vmlinux has no XEN_ELFNOTE_PHYS32_ENTRY note (CONFIG_PVH=n?)");

	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz ||
		    ph[i].p_offset + ph[i].p_filesz > vml_size)
			fail("vmlinux: PT_LOAD beyond the end of the file");
		if (!is_ram(ph[i].p_paddr, ph[i].p_memsz))
			fail("vmlinux: a PT_LOAD segment is not in RAM");
		if (ph[i].p_paddr < klo)
			klo = ph[i].p_paddr;
		if (ph[i].p_paddr + ph[i].p_memsz > khi)
			khi = ph[i].p_paddr + ph[i].p_memsz;
	}
	if (klo >= khi)
		fail("vmlinux has no PT_LOAD segment");
	if (overlaps(klo, khi - klo, (u32)_image_start, _end - _image_start))
		fail("the kernel overlaps pvhboot: link pvhboot higher (PVHBOOT_ADDR)");

	puts("pvhboot: vmlinux ");
	puthex(vml);
	puts(" (");
	putdec(vml_size >> 10);
	puts(" KiB), kernel ");
	puthex(klo);
	puts("-");
	puthex(khi);
	puts(", PVH entry ");
	puthex(entry);
	puts("\n");

	/* Move the modules out of the kernel's way if the loader put them
	 * there (it places them just above pvhboot).
	 */
	busy[0][0] = klo;
	busy[0][1] = khi - klo;
	busy[1][0] = (u32)_image_start;
	busy[1][1] = _end - _image_start;
	busy[2][0] = vml;
	busy[2][1] = vml_size;
	busy[3][0] = rd;
	busy[3][1] = rd_size;
	if (overlaps(vml, vml_size, klo, khi - klo)) {
		u32 to = find_room(vml_size, busy, 4);

		puts("pvhboot: moving vmlinux to ");
		puthex(to);
		puts("\n");
		memmove((void *)to, (void *)vml, vml_size);
		vml = to;
		busy[2][0] = vml;
		eh = (const struct elf64_ehdr *)vml;
		ph = (const struct elf64_phdr *)(vml + (u32)eh->e_phoff);
	}
	if (rd_size && overlaps(rd, rd_size, klo, khi - klo)) {
		u32 to = find_room(rd_size, busy, 4);

		puts("pvhboot: moving the initramfs to ");
		puthex(to);
		puts("\n");
		memmove((void *)to, (void *)rd, rd_size);
		rd = to;
	}

	/* Load the kernel. */
	for (i = 0; i < eh->e_phnum; i++) {
		u32 dst = (u32)ph[i].p_paddr;
		u32 fsz = (u32)ph[i].p_filesz, msz = (u32)ph[i].p_memsz;

		if (ph[i].p_type != PT_LOAD || !msz)
			continue;
		memmove((void *)dst, (void *)(vml + (u32)ph[i].p_offset), fsz);
		memset((void *)(dst + fsz), 0, msz - fsz);
	}

	rsdp = find_rsdp();

	memset(&start_info, 0, sizeof(start_info));
	start_info.magic = XEN_HVM_START_MAGIC_VALUE;
	start_info.version = 1;
	start_info.cmdline_paddr = (u32)cmdline;
	start_info.rsdp_paddr = rsdp;
	start_info.memmap_paddr = (u32)memmap;
	start_info.memmap_entries = nr_memmap;
	if (rd_size) {
		/* The kernel takes the first module as its initramfs. */
		modlist[0].paddr = rd;
		modlist[0].size = rd_size;
		modlist[0].cmdline_paddr = 0;
		modlist[0].reserved = 0;
		start_info.nr_modules = 1;
		start_info.modlist_paddr = (u32)modlist;
	}

	puts("pvhboot: initramfs ");
	puthex(rd);
	puts(" (");
	putdec(rd_size >> 10);
	puts(" KiB), ");
	putdec(nr_memmap);
	puts(" memory map entries, RSDP ");
	puthex(rsdp);
	puts("\npvhboot: command line: ");
	puts(cmdline);
	puts("\npvhboot: jumping to the kernel\n");

	pvh_enter(entry, (u32)&start_info);
}
