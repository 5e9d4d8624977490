"""Operating the tool: doctor, the embedded server, and the only writable connections."""
