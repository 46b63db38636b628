// @peculiar/x509 relies on decorator metadata; it must be loaded before the library.
import 'reflect-metadata';
