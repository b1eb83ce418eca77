// SPDX-License-Identifier: GPL-2.0
/*
 * 64-bit guest environment: the test binary's image, identity page
 * tables, GDT, TSS, IDT and the VP state to enter a guest C function.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vhv_util.h"
#include "apic.h"

#define PTE_P		BIT_ULL(0)
#define PTE_RW		BIT_ULL(1)
#define PTE_A		BIT_ULL(5)
#define PTE_D		BIT_ULL(6)
#define PTE_PS		BIT_ULL(7)

#define TSS_LIMIT	0x67

static void pread_all(int fd, void *buf, size_t len, off_t off)
{
	u8 *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		TEST_ASSERT(n > 0, "reading /proc/self/exe at 0x%llx failed",
			    (unsigned long long)off);
		p += n;
		off += n;
		len -= n;
	}
}

void guest_load_image(struct vhv_partition *part)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	unsigned int i;
	int fd;

	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	TEST_ASSERT(fd >= 0, "open(/proc/self/exe) failed");
	pread_all(fd, &eh, sizeof(eh), 0);
	TEST_ASSERT(!memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
		    eh.e_ident[EI_CLASS] == ELFCLASS64 &&
		    eh.e_type == ET_EXEC && eh.e_phentsize == sizeof(ph),
		    "the test must be a static, non-PIE ELF64 executable");

	for (i = 0; i < eh.e_phnum; i++) {
		pread_all(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		TEST_ASSERT(ph.p_vaddr >= GUEST_IMAGE_MIN &&
			    ph.p_vaddr + ph.p_memsz <= GUEST_SCRATCH_GPA &&
			    ph.p_vaddr + ph.p_memsz <= part->ram_size &&
			    ph.p_filesz <= ph.p_memsz,
			    "PT_LOAD at 0x%llx size 0x%llx does not fit",
			    (unsigned long long)ph.p_vaddr,
			    (unsigned long long)ph.p_memsz);
		pread_all(fd, (u8 *)part->ram + ph.p_vaddr, ph.p_filesz,
			  ph.p_offset);
		memset((u8 *)part->ram + ph.p_vaddr + ph.p_filesz, 0,
		       ph.p_memsz - ph.p_filesz);
	}
	close(fd);
}

void guest_code64_segment(struct vhv_segment *seg)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = GDT_CODE_SEL;
	seg->type = 0xb;		/* execute/read, accessed */
	seg->present = 1;
	seg->s = 1;
	seg->l = 1;
	seg->g = 1;
}

void guest_data_segment(struct vhv_segment *seg)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = GDT_DATA_SEL;
	seg->type = 0x3;		/* read/write, accessed */
	seg->present = 1;
	seg->s = 1;
	seg->db = 1;
	seg->g = 1;
}

void guest_tss_segment(struct vhv_segment *seg)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = GUEST_TSS_GPA;
	seg->limit = TSS_LIMIT;
	seg->selector = GDT_TSS_SEL;
	seg->type = 0xb;		/* 64-bit TSS, busy */
	seg->present = 1;
}

/* Write the descriptor of seg at its selector; system ones take 16 bytes. */
static void gdt_write(u64 *gdt, const struct vhv_segment *seg)
{
	u32 limit = seg->g ? seg->limit >> 12 : seg->limit;
	u64 *d = &gdt[seg->selector >> 3];

	d[0] = (limit & 0xffffULL) |
	       ((seg->base & 0xffffffULL) << 16) |
	       ((u64)(seg->type & 0xf) << 40) |
	       ((u64)(seg->s & 1) << 44) |
	       ((u64)(seg->dpl & 3) << 45) |
	       ((u64)(seg->present & 1) << 47) |
	       ((u64)((limit >> 16) & 0xf) << 48) |
	       ((u64)(seg->avl & 1) << 52) |
	       ((u64)(seg->l & 1) << 53) |
	       ((u64)(seg->db & 1) << 54) |
	       ((u64)(seg->g & 1) << 55) |
	       (((seg->base >> 24) & 0xffULL) << 56);
	if (!seg->s)
		d[1] = seg->base >> 32;
}

static void idt_write(u64 *idt, unsigned int vector, u64 handler)
{
	u64 *d = &idt[vector * 2];

	d[0] = (handler & 0xffffULL) |
	       ((u64)GDT_CODE_SEL << 16) |
	       (0xeULL << 40) |		/* 64-bit interrupt gate */
	       BIT_ULL(47) |		/* present, DPL 0, IST 0 */
	       (((handler >> 16) & 0xffffULL) << 48);
	d[1] = handler >> 32;
}

void guest_setup_tables(struct vhv_partition *part)
{
	u64 *pml4 = addr_gpa2hva(part, GUEST_PT_GPA);
	u64 *pdpt = addr_gpa2hva(part, GUEST_PT_GPA + PAGE_SIZE);
	u64 *pd = addr_gpa2hva(part, GUEST_PT_GPA + 2 * PAGE_SIZE);
	u64 *gdt = addr_gpa2hva(part, GUEST_GDT_GPA);
	u64 *idt = addr_gpa2hva(part, GUEST_IDT_GPA);
	struct vhv_segment seg;
	unsigned int i;

	/* GVA == GPA for the first 4 GiB, with 2 MiB pages. */
	memset(pml4, 0, 6 * PAGE_SIZE);
	pml4[0] = (GUEST_PT_GPA + PAGE_SIZE) | PTE_P | PTE_RW | PTE_A;
	for (i = 0; i < 4; i++)
		pdpt[i] = (GUEST_PT_GPA + (2 + i) * PAGE_SIZE) |
			  PTE_P | PTE_RW | PTE_A;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((u64)i * LARGE_PAGE_SIZE) |
			PTE_P | PTE_RW | PTE_A | PTE_D | PTE_PS;

	memset(gdt, 0, PAGE_SIZE);
	guest_code64_segment(&seg);
	gdt_write(gdt, &seg);
	guest_data_segment(&seg);
	gdt_write(gdt, &seg);
	guest_tss_segment(&seg);
	gdt_write(gdt, &seg);

	/* Every vector goes to its stub. */
	memset(idt, 0, PAGE_SIZE);
	for (i = 0; i < VHV_NR_VECTORS; i++)
		idt_write(idt, i, (u64)vhv_exc_stubs + 16 * i);

	memset(addr_gpa2hva(part, GUEST_TSS_GPA), 0, PAGE_SIZE);
}

void guest_sregs_long_mode(struct vhv_sregs *sregs)
{
	guest_code64_segment(&sregs->cs);
	guest_data_segment(&sregs->ds);
	sregs->es = sregs->ds;
	sregs->fs = sregs->ds;
	sregs->gs = sregs->ds;
	sregs->ss = sregs->ds;
	guest_tss_segment(&sregs->tr);

	memset(&sregs->gdt, 0, sizeof(sregs->gdt));
	sregs->gdt.base = GUEST_GDT_GPA;
	sregs->gdt.limit = PAGE_SIZE - 1;
	memset(&sregs->idt, 0, sizeof(sregs->idt));
	sregs->idt.base = GUEST_IDT_GPA;
	sregs->idt.limit = 256 * 16 - 1;

	sregs->cr0 = GUEST_CR0;
	sregs->cr2 = 0;
	sregs->cr3 = GUEST_PT_GPA;
	sregs->cr4 = GUEST_CR4;
	sregs->cr8 = 0;
	sregs->efer = GUEST_EFER;
}

void vp_setup_long_mode(struct vhv_vp *vp, void (*guest_code)(void))
{
	struct vhv_partition *part = vp->part;
	u64 rsp = vp_stack_top(vp->index) - 8;
	struct vhv_sregs sregs;
	struct vhv_regs regs;

	TEST_ASSERT(part->image_loaded,
		    "64-bit guests need a partition from part_create()");
	vp_sregs_get(vp, &sregs);
	guest_sregs_long_mode(&sregs);
	vp_sregs_set(vp, &sregs);

	/* As if guest_code had been called; returning is reported. */
	*(u64 *)addr_gpa2hva(part, rsp) = (u64)vhv_guest_return_trap;

	memset(&regs, 0, sizeof(regs));
	regs.rip = (u64)guest_code;
	regs.rsp = rsp;
	/*
	 * Interrupts on, as in any OS: the local APIC starts software
	 * disabled, so nothing arrives before the guest enables it, and
	 * emulators (Bochs) take no host-interrupt exit while a guest runs
	 * with IF clear, which would starve the host CPU of a spinning guest.
	 */
	regs.rflags = X86_FLAGS_FIXED | X86_FLAGS_IF;
	vp_regs_set(vp, &regs);
	/* APs start waiting for INIT-SIPI: this VP is set up, run it. */
	vp_set_mp_state(vp, VHV_MP_RUNNABLE);
}
