/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VHV_SVM_VMENTER_H
#define _VHV_SVM_VMENTER_H

/* Enter the guest once; clgi must be in effect. */
void __vhv_svm_run(unsigned long vmcb_pa, u64 *regs,
		   unsigned long host_save_pa);

#endif /* _VHV_SVM_VMENTER_H */
