/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VHV_VMX_VMENTER_H
#define _VHV_VMX_VMENTER_H

/* 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed. */
int __vhv_vmx_run(u64 *regs, bool launched);
/* HOST_RIP: where VM exits land, inside __vhv_vmx_run. */
void __vhv_vmx_exit(void);

#endif /* _VHV_VMX_VMENTER_H */
