# Doxygen input filter: the public headers state their contracts in plain // comments, which
# Doxygen reads only as ///. This turns a header's opening comment into the file's description,
# comment lines before a declaration into its documentation, and a comment after a member on the
# same line into that member's.
1s|^// \(zarrpp/[A-Za-z0-9_.]*\) - |/// \\file \1\n/// |
s|^\([ ]*\)// |\1/// |
s|^\([ ]*\)//$|\1///|
s|\([;,{]\)\([ ]*\)// |\1\2///< |
