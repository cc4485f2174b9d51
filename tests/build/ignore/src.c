src.c
