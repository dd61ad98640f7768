"""The index: documents in, passages out.

Reading files (corpus, folders), cutting them into chunks, embedding them
(embed, onnx_export), keeping texts, vectors and the lexical index together
(store, dbfile, vector_store, remote_store, lexical), checking and mending
them (integrity, recover, writelock, index_lock), and ranking passages for a
query (retrieve). Imports only the shared bottom (types, errors, config).
"""
