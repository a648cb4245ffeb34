import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.math.BigDecimal;

/**
 * DataX's text of doubles and floats, for the differential test: each input line is
 * "double HEXBITS" or "float HEXBITS"; each output line is what DataX's DoubleColumn holds,
 * new BigDecimal(String.valueOf(x)).toPlainString(), or "!" and the exception's class when
 * BigDecimal refuses the value.
 */
public final class DataxText {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, "UTF-8"));
        String line;
        while ((line = in.readLine()) != null) {
            int space = line.indexOf(' ');
            String kind = line.substring(0, space);
            String bits = line.substring(space + 1);
            String text = kind.equals("double")
                    ? String.valueOf(Double.longBitsToDouble(Long.parseUnsignedLong(bits, 16)))
                    : String.valueOf(Float.intBitsToFloat(Integer.parseUnsignedInt(bits, 16)));
            try {
                out.write(new BigDecimal(text).toPlainString());
            } catch (NumberFormatException refused) {
                out.write("!" + refused.getClass().getSimpleName());
            }
            out.write('\n');
        }
        out.flush();
    }
}
