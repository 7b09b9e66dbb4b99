DROP TABLE checkpoint_digests;
