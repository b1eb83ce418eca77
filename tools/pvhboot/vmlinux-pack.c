// SPDX-License-Identifier: GPL-2.0
/*
 * vmlinux-pack: shrink a vmlinux (ELF64) for pvhboot, a host tool.
 *
 *	vmlinux-pack VMLINUX OUT
 *
 * Writes an ELF64 file with the same program headers (types, addresses,
 * p_memsz), the segment data packed one after the other, the trailing
 * zeros of each PT_LOAD dropped (p_filesz shrinks: pvhboot zero-fills up
 * to p_memsz, like any ELF loader) and no section headers.  Debian's
 * 6.1 vmlinux goes from 63 to 34 MiB, mostly .bss and .brk, which its
 * linker script places before the last PROGBITS section: every byte of
 * the file is a byte that isolinux reads from the CD in emulation.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const char *file)
{
	fprintf(stderr, "vmlinux-pack: %s%s%s\n", what, file ? ": " : "",
		file ? file : "");
	exit(1);
}

static unsigned char *read_file(const char *path, size_t *size)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f = fopen(path, "rb");

	if (!f)
		die(strerror(errno), path);
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 64 << 20;
			buf = realloc(buf, cap);
			if (!buf)
				die("out of memory", NULL);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f))
		die("read error", path);
	fclose(f);
	*size = len;
	return buf;
}

int main(int argc, char **argv)
{
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	Elf64_Off *src;
	unsigned char *in;
	size_t size, off;
	FILE *out;
	int i;

	if (argc != 3) {
		fprintf(stderr, "usage: vmlinux-pack VMLINUX OUT\n");
		return 2;
	}
	in = read_file(argv[1], &size);
	if (size < sizeof(eh))
		die("not an ELF file", argv[1]);
	memcpy(&eh, in, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		die("not an x86-64 ELF64 file", argv[1]);
	if (eh.e_phentsize != sizeof(*ph) || !eh.e_phnum ||
	    eh.e_phoff > size ||
	    eh.e_phnum * sizeof(*ph) > size - eh.e_phoff)
		die("bad program headers", argv[1]);
	ph = calloc(eh.e_phnum, sizeof(*ph));
	src = calloc(eh.e_phnum, sizeof(*src));
	if (!ph || !src)
		die("out of memory", NULL);
	memcpy(ph, in + eh.e_phoff, eh.e_phnum * sizeof(*ph));

	/* The new layout: header, program headers, data 16-byte aligned. */
	off = sizeof(eh) + eh.e_phnum * sizeof(*ph);
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Xword len = ph[i].p_filesz;

		if (ph[i].p_offset > size || len > size - ph[i].p_offset)
			die("a segment lies beyond the end of the file", argv[1]);
		if (ph[i].p_type == PT_LOAD)
			while (len && !in[ph[i].p_offset + len - 1])
				len--;
		off = (off + 15) & ~(size_t)15;
		src[i] = ph[i].p_offset;
		ph[i].p_offset = off;
		ph[i].p_filesz = len;
		off += len;
	}

	out = fopen(argv[2], "wb");
	if (!out)
		die(strerror(errno), argv[2]);
	eh.e_phoff = sizeof(eh);
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = SHN_UNDEF;
	fwrite(&eh, sizeof(eh), 1, out);
	fwrite(ph, sizeof(*ph), eh.e_phnum, out);
	off = sizeof(eh) + eh.e_phnum * sizeof(*ph);
	for (i = 0; i < eh.e_phnum; i++) {
		static const unsigned char pad[16];

		fwrite(pad, 1, ph[i].p_offset - off, out);
		fwrite(in + src[i], 1, ph[i].p_filesz, out);
		off = ph[i].p_offset + ph[i].p_filesz;
	}
	if (fflush(out) || ferror(out) || fclose(out))
		die("write error", argv[2]);
	return 0;
}
