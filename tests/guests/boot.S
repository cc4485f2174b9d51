/* A bzImage-shaped image for Berth's tiny test guests: a boot sector and one
 * setup sector holding the Linux setup header (boot protocol 2.15,
 * XLF_KERNEL_64), then the "protected-mode kernel" loaded at 1 MiB whose
 * 64-bit entry is at +0x200, exactly where the VMM jumps for a real kernel. */
        .section .header, "a"
        .code16
        .org 0x1f1
setup_sects:    .byte 1
root_flags:     .word 0
syssize:        .long guest_syssize
ram_size:       .word 0
vid_mode:       .word 0xffff
root_dev:       .word 0
boot_flag:      .word 0xaa55
        .org 0x200
jump:           .byte 0xeb, 0x6a        /* jmp past the header (real mode: unused) */
header:         .ascii "HdrS"
version:        .word 0x020f
realmode_swtch: .long 0
start_sys_seg:  .word 0x1000
kernel_version: .word 0
type_of_loader: .byte 0
loadflags:      .byte 0x01              /* LOADED_HIGH */
setup_move_size: .word 0x8000
code32_start:   .long 0x100000
ramdisk_image:  .long 0
ramdisk_size:   .long 0
bootsect_kludge: .long 0
heap_end_ptr:   .word 0
ext_loader_ver: .byte 0
ext_loader_type: .byte 0
cmd_line_ptr:   .long 0
initrd_addr_max: .long 0x7fffffff
kernel_alignment: .long 0x200000
relocatable_kernel: .byte 0
min_alignment:  .byte 0
xloadflags:     .word 0x0001            /* XLF_KERNEL_64 */
cmdline_size:   .long 2047
hardware_subarch: .long 0
hardware_subarch_data: .quad 0
payload_offset: .long 0
payload_length: .long 0
setup_data:     .quad 0
pref_address:   .quad 0x100000
init_size:      .long guest_init_size
handover_offset: .long 0
kernel_info_offset: .long 0
        .org 0x400

        .section .text.head, "ax"
        .code32
        /* PVH entry (the ELF note below points here), for loaders like
         * qemu -kernel: 32-bit protected mode, paging off, no boot_params.
         * Identity-map 4 GiB, enter long mode, call guest_start(NULL);
         * %ebx (struct hvm_start_info) is kept in pvh_start_info. */
        .globl entry32
entry32:
        cli
        mov %ebx, pvh_start_info
        mov $pvh_pd, %edi
        xor %ecx, %ecx
1:      mov %ecx, %eax
        shl $21, %eax
        or $0x83, %eax                  /* present, writable, 2 MiB */
        mov %eax, (%edi,%ecx,8)
        mov %ecx, %eax
        shr $11, %eax                   /* bits 32+ of i<<21 */
        mov %eax, 4(%edi,%ecx,8)
        inc %ecx
        cmp $2048, %ecx
        jne 1b
        mov $pvh_pdpt, %edi
        xor %ecx, %ecx
2:      mov %ecx, %eax
        shl $12, %eax
        add $pvh_pd + 3, %eax
        mov %eax, (%edi,%ecx,8)
        inc %ecx
        cmp $4, %ecx
        jne 2b
        movl $pvh_pdpt + 3, pvh_pml4
        mov $pvh_pml4, %eax
        mov %eax, %cr3
        mov %cr4, %eax
        or $0x20, %eax                  /* PAE */
        mov %eax, %cr4
        mov $0xc0000080, %ecx
        rdmsr
        or $0x100, %eax                 /* EFER.LME */
        wrmsr
        lgdt pvh_gdt_desc
        mov %cr0, %eax
        or $0x80000001, %eax            /* PG | PE */
        mov %eax, %cr0
        ljmp $0x10, $pvh_entry64
        .org 0x200
        .code64
        .globl entry64
entry64:
        cli
        lea guest_stack_top(%rip), %rsp
        mov %rsi, %rdi                  /* struct boot_params * */
        call guest_start
2:      cli
        hlt
        jmp 2b
pvh_entry64:
        mov $0x18, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        lea guest_stack_top(%rip), %rsp
        xor %edi, %edi                  /* no boot_params */
        call guest_start
        jmp 2b

        .section .rodata
        .balign 8
pvh_gdt:
        .quad 0, 0, 0x00af9b000000ffff, 0x00cf93000000ffff
pvh_gdt_desc:
        .word 4 * 8 - 1
        .long pvh_gdt

        .section .note.pvh, "a", @note
        .balign 4
        .long 4, 4, 18                  /* "Xen", 4 bytes, XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .long entry32

        .section .bss
        .balign 16
        .globl pvh_start_info
pvh_start_info: .long 0
        .balign 16
        .globl guest_stack
guest_stack:
        .skip 16384
guest_stack_top:
        .balign 4096
pvh_pml4: .skip 4096
pvh_pdpt: .skip 4096
pvh_pd:   .skip 4 * 4096

        .section .note.GNU-stack, "", @progbits
