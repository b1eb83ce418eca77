/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvhboot: what a freestanding 32-bit program needs from the kernel's
 * headers, and the functions that head.S and pvhboot.c share.
 */
#ifndef PVHBOOT_H
#define PVHBOOT_H

#include <stddef.h>	/* size_t: gcc's own header, fine freestanding */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define __packed	__attribute__((packed))
#define __aligned(x)	__attribute__((aligned(x)))
#define __noreturn	__attribute__((noreturn))
#define BIT(n)		(1U << (n))

struct mb_info;

/* pvhboot.lds: the image's bounds. */
extern char _image_start[], _end[];

/* head.S */
void pvh_enter(u32 entry, u32 start_info) __noreturn;

/* pvhboot.c */
void pvhboot_main(u32 magic, struct mb_info *mbi);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif /* PVHBOOT_H */
